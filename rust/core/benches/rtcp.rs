// Placeholder until the rtcp benchmarks land; replaced by the rtcp helper's criterion suite.
fn main() {}
