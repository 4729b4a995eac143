//go:build !amd64 && !arm64

package cpu

func sgemmKernel() sgKern { return sgemmKernelGo }

func sgemmKernelStrided() sgKernS { return nil }

func copyPanel(dst, src []float32, ld, kc int) bool { return false }

func transPanel(dst, src []float32, ld, kc int) bool { return false }

func transPanelA(dst, src []float32, ld, kc int) bool { return false }
