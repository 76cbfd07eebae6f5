// `keyval-bench`, the load tool. Everything but this entry point is in KeyValBench, where its unit
// tests reach it.
import KeyValBench

await BenchMain.run()
