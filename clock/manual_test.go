package clock

import (
	"slices"
	"testing"
	"time"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestManualFiresInDeadlineOrder(t *testing.T) {
	c := NewManual(epoch)
	var got []string
	c.AfterFunc(30*time.Millisecond, func() { got = append(got, "c") })
	c.AfterFunc(10*time.Millisecond, func() { got = append(got, "a") })
	c.AfterFunc(10*time.Millisecond, func() { got = append(got, "b") }) // tie: armed later, fires later
	c.Advance(20 * time.Millisecond)
	if want := []string{"a", "b"}; !slices.Equal(got, want) {
		t.Fatalf("after 20ms fired %v, want %v", got, want)
	}
	if c.Now() != epoch.Add(20*time.Millisecond) {
		t.Fatalf("Now = %v", c.Now())
	}
	c.Advance(10 * time.Millisecond)
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
}

func TestManualNowInsideCallbackIsDeadline(t *testing.T) {
	c := NewManual(epoch)
	var at time.Time
	c.AfterFunc(5*time.Second, func() { at = c.Now() })
	c.Advance(time.Minute)
	if !at.Equal(epoch.Add(5 * time.Second)) {
		t.Fatalf("callback saw %v, want deadline", at)
	}
}

func TestManualStopAndReset(t *testing.T) {
	c := NewManual(epoch)
	n := 0
	tm := c.AfterFunc(time.Second, func() { n++ })
	if !tm.Stop() {
		t.Fatal("Stop of pending timer reported false")
	}
	if tm.Stop() {
		t.Fatal("second Stop reported true")
	}
	c.Advance(2 * time.Second)
	if n != 0 {
		t.Fatal("stopped timer fired")
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset of stopped timer reported pending")
	}
	c.Advance(999 * time.Millisecond)
	if n != 0 {
		t.Fatal("fired early")
	}
	c.Advance(time.Millisecond)
	if n != 1 {
		t.Fatalf("fired %d times, want 1", n)
	}
	if c.Pending() != 0 {
		t.Fatalf("pending = %d", c.Pending())
	}
}

func TestManualRearmFromCallbackFiresInSameAdvance(t *testing.T) {
	c := NewManual(epoch)
	n := 0
	var tm Timer
	tm = c.AfterFunc(time.Second, func() {
		n++
		if n < 3 {
			tm.Reset(time.Second)
		}
	})
	c.Advance(10 * time.Second)
	if n != 3 {
		t.Fatalf("periodic timer fired %d times, want 3", n)
	}
	if _, ok := c.Next(); ok {
		t.Fatal("timer still pending")
	}
}

func TestRealClockFires(t *testing.T) {
	done := make(chan struct{})
	Real.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
}
