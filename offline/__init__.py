"""What only the offline tools use (`train.py`, the renderer, the benchmarks): datasets,
motion capture, keypoint extraction, training and evaluation, rendering.

Imports run one way: `offline` uses `pipeline`; `pipeline` and `realtime` never use `offline`.
"""
