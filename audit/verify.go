package audit

import (
	"bytes"
	"context"
	"fmt"

	"github.com/strongroom/strongroom"
)

// VerifyOptions tune Verify.
type VerifyOptions struct {
	// Expect, if its Seq is not 0, is a head recorded earlier (the one a
	// past verify printed, kept elsewhere): the chain must still hold that
	// event with that Hash, unless it was pruned. This catches a database
	// rolled back to an earlier state of itself, tail and head together,
	// which the stored head alone cannot.
	Expect strongroom.AuditHead
	// PageSize is how many events are read at once (MaxAuditPage if 0).
	PageSize int
}

// Summary is what Verify found in a chain that fits.
type Summary struct {
	Events      int64 // events walked
	First, Last int64 // their Seq range; 0 and 0 for an empty chain
	Head        strongroom.AuditHead
	Start       strongroom.AuditStart
}

// Verify walks the stored chain oldest first and checks every event's
// Hash, every link, the start record and the head. It returns a *Mismatch
// naming the first event that does not fit: one edited (its content no
// longer matches its Hash), missing (named by its own Seq: a gap, events
// gone from the start, or from the end before the head), replaced,
// inserted or moved (its Prev is not the Hash before it, or its Hash was
// made for another place). Any other error is a failure to read the
// store.
//
// Verify may run while servers append and prune. Events appended after
// the head was read are walked too; a prune that deletes events ahead of
// the walk would look like a gap, so a walk that finds one is repeated if
// the start moved meanwhile.
func Verify(ctx context.Context, st strongroom.AuditStore, key []byte, opt VerifyOptions) (Summary, error) {
	for attempt := 0; ; attempt++ {
		start, err := st.AuditStart(ctx)
		if err != nil {
			return Summary{}, err
		}
		sum, err := verifyOnce(ctx, st, key, opt, start)
		if err == nil || !IsMismatch(err) || attempt == 2 {
			return sum, err
		}
		now, serr := st.AuditStart(ctx)
		if serr != nil {
			return sum, serr
		}
		if now.Seq == start.Seq {
			return sum, err
		}
	}
}

func verifyOnce(ctx context.Context, st strongroom.AuditStore, key []byte, opt VerifyOptions, start strongroom.AuditStart) (Summary, error) {
	sum := Summary{Start: start}
	if start.Seq < 0 || start.Seq > 0 && !bytes.Equal(start.MAC, SealStart(key, start)) {
		return sum, &Mismatch{Seq: start.Seq, Reason: "the record of where the pruned chain starts was not made with the audit key (forged)"}
	}
	// The head is read before the walk, and every append writes its
	// events before it moves the head, so the walk reaches the head.
	head, err := st.AuditHead(ctx)
	headMissing := strongroom.IsKind(err, strongroom.KindNotFound)
	if err != nil && !headMissing {
		return sum, err
	}
	sum.Head = head
	page := opt.PageSize
	if page <= 0 || page > strongroom.MaxAuditPage {
		page = strongroom.MaxAuditPage
	}
	var last *strongroom.AuditEvent
	var headSeen, expectSeen bool
	for after := int64(0); ; {
		events, err := st.AuditChain(ctx, after, page)
		if err != nil {
			return sum, err
		}
		for _, e := range events {
			if err := fits(key, start, last, e); err != nil {
				return sum, err
			}
			if e.Seq == head.Seq && !headMissing {
				if !bytes.Equal(e.Hash, head.Hash) {
					return sum, &Mismatch{Seq: e.Seq, Reason: "its hash differs from the chain's head: the newest events were replaced"}
				}
				headSeen = true
			}
			if e.Seq == opt.Expect.Seq {
				if !bytes.Equal(e.Hash, opt.Expect.Hash) {
					return sum, &Mismatch{Seq: e.Seq, Reason: "its hash differs from the head recorded earlier: the chain was rewritten from here"}
				}
				expectSeen = true
			}
			if sum.Events == 0 {
				sum.First = e.Seq
			}
			sum.Events++
			sum.Last = e.Seq
			last = e
		}
		if len(events) < page {
			break
		}
		after = last.Seq
	}
	next := sum.Last + 1 // where the chain would go on
	if last == nil {
		next = max(start.Seq, 1)
	}
	switch {
	case headMissing:
		return sum, &Mismatch{Seq: next, Reason: "the chain's head record is missing, so a cut of the newest events cannot be ruled out"}
	case head.Seq >= next:
		return sum, &Mismatch{Seq: next, Reason: fmt.Sprintf("missing: the chain ends at event %d but its head is event %d (the newest events were deleted)", next-1, head.Seq)}
	case head.Seq == 0 && !bytes.Equal(head.Hash, strongroom.AuditGenesis()):
		return sum, &Mismatch{Seq: next, Reason: "the head of the empty chain was altered"}
	case head.Seq > 0 && !headSeen:
		// The head's event was pruned, which a prune never does.
		return sum, &Mismatch{Seq: head.Seq, Reason: "the chain's head is before where the chain starts"}
	}
	switch e := opt.Expect.Seq; {
	case e <= 0 || expectSeen || e < start.Seq:
		// Not asked, seen, or pruned since.
	case e >= next:
		return sum, &Mismatch{Seq: next, Reason: fmt.Sprintf("missing: the chain ends at event %d, before event %d recorded earlier (the newest events and the head were rolled back)", next-1, e)}
	default:
		return sum, &Mismatch{Seq: e, Reason: "the event recorded earlier as the head is missing"}
	}
	return sum, nil
}

// fits checks e against the event before it in the walk (nil for the
// first one found) and the start record. Missing events come before e, so
// they are named first; then e's own hash; then its link.
func fits(key []byte, start strongroom.AuditStart, before, e *strongroom.AuditEvent) error {
	switch {
	case before != nil && e.Seq != before.Seq+1:
		return &Mismatch{Seq: before.Seq + 1, Reason: fmt.Sprintf("missing: event %d follows event %d", e.Seq, before.Seq)}
	case before == nil && start.Seq == 0 && e.Seq != 1:
		return &Mismatch{Seq: 1, Reason: fmt.Sprintf("missing: the chain, never pruned, begins at event %d", e.Seq)}
	case before == nil && start.Seq > 0 && e.Seq > start.Seq:
		return &Mismatch{Seq: start.Seq, Reason: fmt.Sprintf("missing: the pruned chain was recorded to start here, but begins at event %d", e.Seq)}
	}
	if !bytes.Equal(e.Hash, Hash(key, e)) {
		return &Mismatch{Seq: e.Seq, Reason: "its hash does not match its content: edited, or moved from another position"}
	}
	switch {
	case before != nil && !bytes.Equal(e.Prev, before.Hash):
		return &Mismatch{Seq: e.Seq, Reason: fmt.Sprintf("its previous hash is not the hash of event %d: an event was replaced, inserted or moved", before.Seq)}
	case before == nil && start.Seq == 0 && !bytes.Equal(e.Prev, strongroom.AuditGenesis()):
		return &Mismatch{Seq: e.Seq, Reason: "the first event does not start a chain"}
	case e.Seq == start.Seq && !bytes.Equal(e.Prev, start.Prev):
		return &Mismatch{Seq: e.Seq, Reason: "it is not the event the pruned chain was recorded to start with"}
	}
	// Events before start.Seq are left by a prune that stopped between
	// recording the start and deleting them; the first of them has lost
	// its predecessor, so only its own hash can be checked.
	return nil
}
