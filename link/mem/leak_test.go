package mem

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// checkNoGoroutine fails t if a goroutine whose stack mentions fn is still
// alive. Close waits for a link's goroutines to finish their work, but a
// goroutine that has signalled it is done still needs a moment to return,
// so this polls briefly before it calls it a leak.
func checkNoGoroutine(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	for i := 0; ; i++ {
		n := runtime.Stack(buf, true)
		if !bytes.Contains(buf[:n], []byte(fn)) {
			return
		}
		if i == 2000 {
			t.Fatalf("goroutine leak: %s still running:\n%s", fn, buf[:n])
		}
		runtime.Gosched()
		if i > 100 {
			time.Sleep(time.Millisecond)
		}
	}
}
