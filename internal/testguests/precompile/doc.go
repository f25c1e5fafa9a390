// Package precompile holds one test, TestPrecompile, which fills a wazero
// compilation cache with the machine code of the test guests and examples,
// in a process built without the race detector; see
// testguests.PrecompileInto, which runs it.
package precompile
