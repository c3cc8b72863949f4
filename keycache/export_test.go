package keycache

// Memory is the block the cache keeps its keys in, to check what is left
// in it.
func (c *Cache) Memory() []byte { return c.keys }
