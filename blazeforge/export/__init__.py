"""Export: TFLite conversion (fp32, fp16, dynamic, int8) with parity and latency checks."""
