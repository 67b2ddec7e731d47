"""What -gd does (generator.generate dispatches here): one module per source of skeletons
(ntu_files, pose_files, synthetic for the demos) over one writer of the arrays (arrays)."""
