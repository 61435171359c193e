// libtorch's random generator is process-wide: tests that seed it and draw from it must not interleave.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
