/* weak_version FILE VERSION: marks the version requirement VERSION (e.g. GLIBCXX_3.4.32) in the
 * ELF64 file's .gnu.version_r as weak (VER_FLG_WEAK), so the dynamic loader no longer refuses the
 * library when the provider lacks that version. patchelf has no option for this flag.
 * Exit codes: 0 marked (or already weak), 1 error, 3 no such requirement. */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s FILE VERSION\n", argv[0]); return 1; }
  FILE *f = fopen(argv[1], "r+b");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  unsigned char *elf = malloc(size);
  rewind(f);
  if (!elf || fread(elf, 1, size, f) != (size_t)size) { fprintf(stderr, "%s: cannot read\n", argv[1]); return 1; }

  Elf64_Ehdr *eh = (Elf64_Ehdr *)elf;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) {
    fprintf(stderr, "%s: not an ELF64 file\n", argv[1]);
    return 1;
  }
  Elf64_Shdr *sh = (Elf64_Shdr *)(elf + eh->e_shoff);
  int found = 0;
  for (int i = 0; i < eh->e_shnum; i++) {
    if (sh[i].sh_type != SHT_GNU_verneed) continue;
    const char *strtab = (const char *)(elf + sh[sh[i].sh_link].sh_offset);
    Elf64_Verneed *vn = (Elf64_Verneed *)(elf + sh[i].sh_offset);
    for (;;) {
      Elf64_Vernaux *va = (Elf64_Vernaux *)((unsigned char *)vn + vn->vn_aux);
      for (int j = 0; j < vn->vn_cnt; j++) {
        if (strcmp(strtab + va->vna_name, argv[2]) == 0) {
          va->vna_flags |= VER_FLG_WEAK;
          found = 1;
        }
        va = (Elf64_Vernaux *)((unsigned char *)va + va->vna_next);
      }
      if (!vn->vn_next) break;
      vn = (Elf64_Verneed *)((unsigned char *)vn + vn->vn_next);
    }
  }
  if (!found) { fprintf(stderr, "%s: no requirement named %s\n", argv[1], argv[2]); return 3; }
  rewind(f);
  if (fwrite(elf, 1, size, f) != (size_t)size) { perror("write"); return 1; }
  fclose(f);
  return 0;
}
