#include "textflag.h"

// func currentMemory() int32
TEXT ·currentMemory(SB), NOSPLIT, $0-4
	Get SP
	CurrentMemory
	I32Store ret+0(FP)
	RET
