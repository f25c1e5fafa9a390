#include "textflag.h"

// func unreachable()
TEXT ·unreachable(SB), NOSPLIT|NOFRAME, $0-0
	UNDEF
