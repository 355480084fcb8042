// Placeholder until the rtp benchmarks land; replaced by the rtp helper's criterion suite.
fn main() {}
