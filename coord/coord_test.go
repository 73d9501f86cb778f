package coord

import (
	"testing"
	"time"
)

func TestSignalCoalesces(t *testing.T) {
	var s Signal
	for i := 0; i < 10; i++ {
		s.Notify()
	}
	select {
	case <-s.C():
	case <-time.After(time.Second):
		t.Fatal("no wake-up after Notify")
	}
	select {
	case <-s.C():
		t.Fatal("ten notifications woke the waiter twice")
	default:
	}
}
