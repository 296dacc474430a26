# SPDX-License-Identifier: MIT
# The reference-image suite's tolerance (README.md): a pixel matches when no
# channel differs from the reference by more than REF_TOLERANCE, and a frame
# when at most REF_MAX_BAD pixels do not.
REF_TOLERANCE=2
REF_MAX_BAD=64
