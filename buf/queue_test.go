package buf

import "testing"

func TestQueueBoundsAndOrder(t *testing.T) {
	q := Queue{MaxBytes: 10, MaxPackets: 3}
	for i, s := range []string{"aaaa", "bbbb"} {
		if !q.Push(From(0, []byte(s))) {
			t.Fatalf("push %d refused", i)
		}
	}
	if q.Push(From(0, []byte("ccc"))) {
		t.Fatal("push beyond MaxBytes accepted")
	}
	if !q.Push(From(0, []byte("cc"))) {
		t.Fatal("push within bounds refused")
	}
	if q.Push(From(0, nil)) {
		t.Fatal("push beyond MaxPackets accepted")
	}
	if q.Len() != 3 || q.Bytes() != 10 {
		t.Fatalf("len %d bytes %d", q.Len(), q.Bytes())
	}
	for _, want := range []string{"aaaa", "bbbb", "cc"} {
		b := q.Pop()
		if string(b.Bytes()) != want {
			t.Fatalf("pop %q, want %q", b.Bytes(), want)
		}
		b.Release()
	}
	if q.Pop() != nil || q.Bytes() != 0 {
		t.Fatal("queue not empty")
	}
}

func TestQueueOversizeFirstPacketAccepted(t *testing.T) {
	// A datagram larger than the byte bound is still taken by an empty
	// queue, as Linux admits one skb past sk_rcvbuf; otherwise a big
	// datagram could never be received.
	q := Queue{MaxBytes: 4}
	if !q.Push(From(0, []byte("too long"))) {
		t.Fatal("empty queue refused a large packet")
	}
	q.Clear()
}
