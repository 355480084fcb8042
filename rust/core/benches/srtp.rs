// Placeholder until the srtp benchmarks land; replaced by the srtp helper's criterion suite.
fn main() {}
