@main
struct RaftSim { static func main() {} }
