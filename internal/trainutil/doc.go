// Package trainutil holds the training plumbing shared by ssl, supervised and the
// evaluation protocols: turning GoMLX's graph-building panics into errors, reading scalar
// metrics, and copying variables between stores by scope.
package trainutil
