// Package slotlist threads doubly linked lists through the elements of a
// slice by their indexes: a cache's recency or age order with no
// allocation per element and no pointer for the collector to follow, for
// caches of a hundred thousand entries whose scanning would otherwise
// cost every request.
package slotlist

// None is the index that ends a list.
const None int32 = -1

// List runs from its newest element to its oldest.
type List struct{ Newest, Oldest int32 }

// Links are an element's neighbours in one list.
type Links struct{ Newer, Older int32 }

// New returns an empty list.
func New() List { return List{None, None} }

// Push makes element i of s the newest of l; at gives an element's links
// in l.
func Push[S any](l *List, s []S, at func(*S) *Links, i int32) {
	e := at(&s[i])
	e.Newer, e.Older = None, l.Newest
	if l.Newest != None {
		at(&s[l.Newest]).Newer = i
	}
	l.Newest = i
	if l.Oldest == None {
		l.Oldest = i
	}
}

// Unlink takes element i of s out of l.
func Unlink[S any](l *List, s []S, at func(*S) *Links, i int32) {
	e := at(&s[i])
	if e.Newer != None {
		at(&s[e.Newer]).Older = e.Older
	} else {
		l.Newest = e.Older
	}
	if e.Older != None {
		at(&s[e.Older]).Newer = e.Newer
	} else {
		l.Oldest = e.Newer
	}
	e.Newer, e.Older = None, None
}
