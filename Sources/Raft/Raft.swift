// The Raft shell: it will own the clock, the disk and the network around the deterministic core
// (see docs/design.md). Users of the library import `Raft` and get the core's types with it.
@_exported import RaftCore
