//go:build !amd64

package cpu

func sgemmKernel() sgKern { return sgemmKernelGo }
