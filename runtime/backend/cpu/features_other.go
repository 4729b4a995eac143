//go:build !amd64 && !arm64

package cpu

func detectLevel() level { return levelGeneric }
