/* std::ios_base_library_init() (GCC 13, GLIBCXX_3.4.32) as a no-op, for libstdc++ builds that
 * predate it. Older libstdc++ initialises the standard streams from its own constructors, which
 * is all the real function arranges, so doing nothing here is equivalent. */
void _ZSt21ios_base_library_initv(void) {}
