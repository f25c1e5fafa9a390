// Command abuse is a test guest that speaks the pave_v1 ABI by hand, without
// the SDK, to attack the host: out-of-bounds pointers and lengths, short
// buffers, a response written twice, malformed responses, header injection
// and a log flood. The host must refuse each one without harm to itself.
//
// ?mode= selects the attack; see handle.
package main

func main() {}
