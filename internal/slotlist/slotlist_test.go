package slotlist_test

import (
	"slices"
	"testing"

	"github.com/strongroom/strongroom/internal/slotlist"
)

type elem struct{ a, b slotlist.Links }

func aOf(e *elem) *slotlist.Links { return &e.a }
func bOf(e *elem) *slotlist.Links { return &e.b }

// walk returns l's elements from newest to oldest, and checks that the
// walk back from the oldest gives the same.
func walk(t *testing.T, l slotlist.List, s []elem, at func(*elem) *slotlist.Links) []int32 {
	t.Helper()
	var fwd, back []int32
	for i := l.Newest; i != slotlist.None; i = at(&s[i]).Older {
		fwd = append(fwd, i)
	}
	for i := l.Oldest; i != slotlist.None; i = at(&s[i]).Newer {
		back = append(back, i)
	}
	slices.Reverse(back)
	if !slices.Equal(fwd, back) {
		t.Fatalf("newest to oldest %v, oldest to newest reversed %v", fwd, back)
	}
	return fwd
}

// Two lists through the same elements keep their own orders.
func TestTwoLists(t *testing.T) {
	s := make([]elem, 4)
	a, b := slotlist.New(), slotlist.New()
	for i := range int32(4) {
		slotlist.Push(&a, s, aOf, i)
		slotlist.Push(&b, s, bOf, 3-i)
	}
	if got := walk(t, a, s, aOf); !slices.Equal(got, []int32{3, 2, 1, 0}) {
		t.Fatalf("a = %v", got)
	}
	slotlist.Unlink(&a, s, aOf, 0) // the oldest
	slotlist.Unlink(&a, s, aOf, 2) // a middle one
	slotlist.Push(&a, s, aOf, 0)
	if got := walk(t, a, s, aOf); !slices.Equal(got, []int32{0, 3, 1}) {
		t.Fatalf("a = %v", got)
	}
	slotlist.Unlink(&b, s, bOf, 0) // the newest
	if got := walk(t, b, s, bOf); !slices.Equal(got, []int32{1, 2, 3}) {
		t.Fatalf("b = %v", got)
	}
	for _, i := range []int32{0, 3, 1} {
		slotlist.Unlink(&a, s, aOf, i)
	}
	if a != slotlist.New() || len(walk(t, a, s, aOf)) != 0 {
		t.Fatalf("emptied list = %+v", a)
	}
}
