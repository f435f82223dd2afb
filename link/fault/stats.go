package fault

// Stats counts what the impairments did, in packets. A packet can be
// counted under several headings (corrupted and then delayed, say).
type Stats struct {
	Passed     uint64 // packets handed on, duplicates included
	Dropped    uint64 // lost at random (Loss)
	Overflow   uint64 // tail-dropped by a full Rate queue
	Duplicated uint64 // packets sent twice
	Reordered  uint64 // packets taken out of order (Reorder)
	Corrupted  uint64 // packets with one bit flipped
	Delayed    uint64 // packets held back by Delay, Rate or Reorder(p, by)
}

func (s *Stats) add(o Stats) {
	s.Passed += o.Passed
	s.Dropped += o.Dropped
	s.Overflow += o.Overflow
	s.Duplicated += o.Duplicated
	s.Reordered += o.Reordered
	s.Corrupted += o.Corrupted
	s.Delayed += o.Delayed
}
