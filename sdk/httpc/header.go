package httpc

import pave "github.com/pave-dev/pave/sdk"

// Header is an ordered list of HTTP header fields: the SDK's pave.Header,
// so that an invocation's fields forward as they are. Methods match names
// case-insensitively; names are kept as written. The zero value is an empty
// header, ready to use.
type Header = pave.Header
