"""Benchmarks: fastnet against its peers and the machine's GEMM roofline (see RESULTS.md)."""
