// Package trainutil holds the training plumbing shared by ssl and supervised: turning
// GoMLX's graph-building panics into errors and reading scalar metrics.
package trainutil
