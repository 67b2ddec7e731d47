"""What -gd does (generator.generate calls samples): the one path from a source's annotations to
the arrays (samples, over arrays' writer, in workers' processes), the listers of the sources
that need -gd's machinery (ntu_files, pose_files, which reads videos through videos), and the
demos' synthetic data (synthetic)."""
