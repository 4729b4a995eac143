//go:build !amd64

package cpu

func detectLevel() level { return levelGeneric }
