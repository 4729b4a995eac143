package cpu

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"testing"

	"github.com/cartlsp/cartlsp/runtime/gguf"
)

// ggmlGolden holds products computed by llama.cpp's ggml (AVX-512 build,
// ggml_mul_mat on the CPU backend): random [20, 128] weights (GGUF blocks)
// times x = ggmlGoldenX [3, 128] for n = 1 (ggml_vec_dot_*) and n = 3 (Q8_0:
// tinyBLAS_Q0_AVX), as little-endian float32 bytes, base64.
var ggmlGolden = map[string]struct{ raw, y1, y3 string }{
	"q4_1": {
		raw: "ghtGsD+abzpRHQ+yxYEav2FWjZN/I2WrzGDWROg04VcAofb9nPJPk3Uhzq4mmszM48yj7xC7D+VxUOjYeyAnqyOkk3Ms4UTt8kDkqALxBWVaJB+jJ9IVcPXOe3OKrfULqTcohGYkNrA33cBy06wUJx4Ezrl87P2d9CLSpc8UaVTK+GTV2u5I0dbKr40uJSinCwPgr81wZIYWZ4rdhbvNUhcj1q1EZhRD2Wcug+VL1ukcyClTrCEmq18KWP8dKgrknQPnGvJkJnZhIfeo6QnD7RVY+0DtsbrhLPox9HQfK7C4Kz4qMUpDmM1ItFSHVgP7YhyFsDOxGpFnk8DF7lvgt10/aZHFI++uWr/JjhZQyXL/iWyZISltorQdkJrXlH4d2Hovrc1R/DHzA3Z55CQSqbVOFVK+5mXRfUhZyKLzf/zbJKGwkT5IVDyMuChFq1qMiqxCKrMd8aqpVG8EBOuKHVwUTB5MrpMmnBV7sMrDb12a1G9c0uljvXeXQ6ArISKvisR7ahy5Xs7S2iVunJwLYv4hfaPnYLtnS/sUScYCQX8+vAY5WB87qk8IGpMwfjOT3JGCYEpqMFW4H/uv3SQsBkjOGwN77U9517JYAWMYKLBiiJ2Ev8k8olrOuzMAzFu6KSUwqEnH9ulxIYXr0rlWNZQOGz7TIYquImpmlxcnGcxNyeEpRTWEP2YhAZ9LbP5LWWiySRX7I9JAsiD75CSXrRjqSIaMolfJpzftGbhE9+bSH7WwVcJqHGbK0nJPxd3olm+tKPEhs62ubZ9xZZtdsdWbBtYzksOrfhcjrr138vMwne/rwoI0mb8UjKtAJemszU6I2x3Tac/dfzdlOeXoI9ckMazprbYrxWZt4GxSrXmO0CFS6CIQsMSiNvTjfBu2H7VrIbups546JcKillOqNdRcHBp06Cae8l00jSUll66e5uv1b9tET6bRdIroYJMbGiGcrFZNR8p/3eB3S0wQMxjDjJ6cHjqwiKxA0fzpz0lCJ4StmDBpGxYgfrCmYH58nvzPKIE+QqyOmxZHACWvqqhxUS/ZDNXXgacEXKZsoQvOJI6oTsWc8rKbOS4+mlIcJasDvlIlm7DbfsOzip2XwBPP3x+SaA7qTyVPrc1ujC6QSgUlkzTQnxpfcdmRIAGqW5nWBsaoO4DMTmDwdzDtCKEVE6kXwucpGUyLmFcZ6dmsqNm/KCXbr43NnBESxezwpSjPE4En56IDJKStrDnMSL3H2BSsB3ukwe3YDyYkxacYPqnojJsxyt8Mn7cOasx2qhRkrQo4HQtH72pxsY8OhiYT6hJfHuOpNGjjpXGBfligdc9KJcLytHMcQazeoU17609Zm2gYvKz2MUPywhoXoqsqHPKsHhQx3af4o6/WdzhcHNahFmJR37/FpDXXLSYGAG4uOWwhOK7nXBmQPn8mXZs1kFCktQ0r7RkNqSY3v6CAlrorF/hRlUkkJXu3JOGuKGKhGtsoBzRPCrCYtvgrCdEYL6zMID/KhogUXcVnpvkAKrSufBnjqAMTZN/8Qo+v8mJ/zJDibJHOIVSwlOQOYqk/Ax3YLjhHe9MKMk4iba2uJ5cEcfrn+mh8CEiCjDj6hyJJr6zpwNPrz4my9kehNtLvByKuIt+pSnETHh335FsI+cBVZj0CKMcUGbC1S8yllw2Rt7FRFExxK5DA7B4CrEiKIOMdDxUtDFeDQbozKJqNJHqvM3RpMVx2De9SASFY8/OtQrIj3qRWGjLMFAhLieqigO6eUjkcDCI0rbCq7BT5q9FY7Dsxdb13eFnLI56sBhk49rnwWmjwXq4KLNbaHM4eEbACy9k/ehLU+JHOwyGbjYhftyQysGf+0fJ7XtU3MEgHvWV8GEakI+Cp4JdppNBMjvRT0D0hAwh2Xf0jyq6EM1pht4SxNilYq1VV5rDdwh86pPhzpJR9PtcMX460ym41q3P+IjapUQvxRHWWh9eXyP2RZ+p7RJgkFZ0Alxf1fNY9Q+RMWQmMuNMoGSG8qrqhnqWn0g5lbNNqZMCz/tlyItCthEnHqV1u2GO0AV12m8nazqYhKa8zzfopW54I6p3OwFuquayc+CAQqUoe06ib/3jpCMMS4V9C0MNZJECoGbOK4tFgy29/XlikUjIz4g==",
		y1:  "DV8EP2tyHMCyHI2/TmsxQNRjZb/uXce/8JNqv2pU4D5WVfM/4kKLv4KVE74oG7y90Kn2Prbrk76BEQk/vUUWwCfMab+2FuU/Kk/LP5q3ob8=",
		y3:  "DV8EP2tyHMCyHI2/TmsxQNRjZb/uXce/8JNqv2pU4D5WVfM/4kKLv4KVE74oG7y90Kn2Prbrk76BEQk/vUUWwCfMab+2FuU/Kk/LP5q3ob+U5hm/GCnFvtPCCD+AJRC7mBy4vZ60j75Ioaq+RHZovr7YUD5wLwq9MEw7vRLfJb9AhNy+BBcTvxmOJz9QVc28YiBYP8QLND9tAAq/6JDFP+R4JsAQiF9AvJAQQDmXEkAaCLnA4NQBwLBK5z/NEHrAEsodQai8Nz8Y2MM+4BoMPwOtpb/WAwE/3QB0wOA8vsCAci6//I2xQAouDUHcot4/",
	},
	"q8_0": {
		raw: "EB5wUIQKhbgk4ByUoSy1OrqIis2MRZG0IwkXTicSx6B4aBQk/hEy1fUVWeSNn5egVIw3rLu/BCIXFKAXmFKRmbLkWJXNILqVD5E3m/HkQEP5yFw+wrxhyqX5EJRu8yMVa1PljyFMWCILFKaO92HMx34MmAqJaUoae33fvMcpvxQAA0khCw3k1hUj3pZP+0n0J7evEUArMqBBzA+Qoxl2lbG7NfNL9GmJEnK8Ha0cmrkHGGTavdIV+YkWQxkGMAPFp5jmwS3UDhs96tzQExolGbqd1wTBMB4f46n+209wiJj1Lp7w9h1J5ZegKxBvgq4kREym4KQK7AdKelyM98wg6PBJSDvI7PCDESaB6LiecyERIZHPkMUnBRrA0+WycUL6HsE1BY9qPF13LVpmz0HpLmvuFRxjO4ciXXed0hdgzLhPcop+KI3z0+5/QndULDqjpYI4wBcleU6H7nRDkWfBzZdfBcWu1OqMkKktDXuHhwyWrGo/B6FDHWnFhxXTT+NBNT4dLkMLKthOrohdVOkQJp+SCN3pmrPbAyR/1wouBKAn4yHpLwKfuwEzuWHJUHSIfP3m2HsT4pYHO8gg4XGzhevrhv3yVIlBiq9pzyQ87OztxP9uvljv200NIm12HR5ol2LHOrYvJy+YC88VdLMVEKcsIvxHLrz1sE0gOAeXMiQbyRyV4Z/701gGe9VdtDFFb+BBX+y/EjCh3BZZ1CU8LtoZqkAI24c98Fj+oE+E5EL1dxRmWPBcVcmGRY9uFSIHeVPOHRX2OX21znvoYRu+fk2vGDEX6tXnRMJc968Ts+WjAZojniSnEO/i+XbLrEuM+Gj+xM6nUOPZ2DvbO1pdyzuixrcZc+cgvtxzR9Vv3wPsUHbEAdqjE169gcfnsFHDAldPS3ueKtnoI6Bcvg8LOky92khVUjnoSr1AiTchBiIdgS4Fh3CLiK2kahga8DTjP17dkT+0nHBxhXrDVeVngSLKfRpLHYgc5CatHe0W6SeqFZu4m+ssvWNeMshWqqtMO0PoWsst5uv9+iMOXBgYJWvEW0QuhR6xtXEKwRIDyWpUJ1j9XzMjeoZx66+TpMTK/hupQ7pVBaTQkw3TzTDQRbX2yCNgalphGJ8kNhRH8Why6zgcD/ku35vlXk1fJ/wuSSeYpe+P2+U4WQAmN0ruH6pJLH/RI4lcFHnNPaNQ75UFivlsz70azqujtSLHiG9Mtc2bPh9plSOn7VAgf1vzNnLBd4L/YQ8fA5G2DegXOMu0Yhq+DaU7z/QfV2KmKNmgBuXkm9o00lvgmFIAqr9gyew/J3pTyGQLutCYGIwaU6iiMC8/aaUAGQ62ykNxyQEwPyZeE4K4WlXF29RFYCEN8xE2RNc5Q1zynj0bMjlyeemH2Y9+QwQz61gzQcCfdR4koSYhyyhPQGv7SiZpcphtPuNdavrqlcULV75GiYJvg1UCI1E/WSx/9+yfc8plAsEVnM0UoZTYRrB0bpi5AeXaCx/BlCG+DSiNTHI3Ck6m5HtFq786FPymwhHhUvtf31m/7+tB8I4jvbMxjN9VZZJiIg8MjHkgsXVjFKKvrGUn0avuFvktCqBNJDbsi3d8g7mVGR9CwrPnR2gt2BeOfaXkDv1G1UIC+eW+UBuFuVy0l2ik6F6e8SNS9aCIVHq1ciDD2VWm9e8scSdlOwYhsabjTgbxQfHVQu8vkX3k42Yi7ZYdnRTBPsh68tq7/W/lIPjil2doS0xFkGpkPPXOaXaoh55lCOvQ13v6neaOXAtOFCSHvGPx6pSsPpGL++VYp35a4GsDyhFfu65hNuLAtfJjHBwg+7NYFu1LEn6N0xPCG5SytQOHrcBaOvuebyU3zMq7M/z7IHfyH56eEClnT4OalfwWttL1wbp8vM+cayMe3IiXxOyUBSJAaByOJojAiKnGKqsad9hGIXDTFNVSizWMyzgn6cr+93gk5bnArWJasvcRrYTSYcg1ZbH57msV+NJwomoeEQZJs8rHGocbH48e+AQfEUR2Zdm1xl3b/5sf7/YtWQzN04NxVKop2SOioDC1CiB0P2kpJxhIJ1KmjvNN1Tc8RwRlOBQyFWcjWyoYzCsq4FSa4/qkWI1MZpvwtFgy0HezlOmXFTJgHopPAbOTId9NIeJR5muJ8EwM8gHhWyh3Wntd9NjDHOTjNVZMS00peSRNA9ISTarFNSrKShDWgVvmAR5nIS8QGcELJ9cpLBdE4SQcNA4Ajhlqjtr1yajzf5uuYmZ6mVIeE1lwU9Um9/qs9e0BJe8qmwwkCQAiVhyB9OsDNJpQ8gUtALntx6BOEaPJsgBRARs7zTxpAup9UUBDE4YXuHBpXtJa5wtvCJw8eMQlCiFMgfgi0lIf5VeT7aJFlKjqZFFuj1LoNOdd5ssHhQkRtaNLWAQeIGh2rTRsqjB4mhTL18+9qpIYvyHK89ijfCIYzrKQ30nvdBkx+NUChWjs75kwJC7WrT0R/fNpqiqHxH6rmOtjHt4/lTIllykl6AVWJjWf6kg4wT1SrHU3ImqzMBpMwH1kTOv4RhAvJPUil5O3kLbGJlHLueTShlI9oWHIt8KOjd8+cNKR6NPVvhi5WIyjS8mKOLHZlwJD1TQP3tEb9TeD44TSAiRRuH/wTeIheyXiLFY7AX1n2P7ynkepuDCZO2YkhSlkbWqHqxhBEMqTHlR7UWMVQ2HwN3yEEo968zhsjBVMYFZ5Yf4fuoqYXnzsDR14ttm0OFBQk39rF4U0OY+7rwTMrrhmbah5+K4crfTWuPYesW9OoKuFJ2hZYhIv5/mWc1TquoSx71MHUQzAY+CSK1rcIeE7ouoKzDzWwcYx9EIZpFRorePznwhEUcc2Uh/+LD7zYyQrVjkRS55s7aTEQrECzOlRX9k87lTipLAJEoXrfW9ZHkMlmVwV/nWFOLdun+M98KTNJQHTAvsHQYvNlaw8yplxEg3nHpOmHZLL1kcdxPXRUHl+rRL+2JhLS5cjQkNh/kbvmmEVXSR66b5YYavcBzUPgUqf6vDCSjamni/ehPjVSfvtMhAsLW4jR3Za98ISO4UnsQzAMLb0BXqzTRI8UxSTbr4W/9WM66VmIlHm72d1EvpCG9mB4XhaMh3Yam/BY54iLV6gyZSH5GowNCAZQVv1x8kNCXMbB6eUF2WrI3dZCHy15IsNt9XSThOSKswjWfHcIX8O/MzEuHPmXDB9o/kjZ4bvr0gr5U8qRBcvRsFQJeEaj2mxb0699Hi1lQ8j2cLsmKcSdLeFSYj26cXQhNsxCCMPTg3iB2obhx1r9UQ7m4Z8S5efQCy/VzFgVrufOtNQZWch3Kgil5GgXput3JpHQfSImuPaOfyP8xIkii6jP0AJRYgyJGZIczoJ8NxjIJl7PXIZODMvknh3+IhZrpkEJBPerhLK8SQN0oXyMZ22ErszRz1pvOXfHieoedtFp7hkkeLULAfbxk0k3sJnoHoaAkIDtZrW58M1iEsvMI3aHTsg7Qg8i6aKUQSJIVyEloMoRh/TJzc/s6PEP2YrszHpCQDgNqjSLyacuUsu1hWYsAmQe5seP633xki6ec6wJEVMeJzPH5Rt9icLJjBxEjQffqo/15P49LBPzepif+zNoO8qENvkBMTlYp71PJgSmn0=",
		y1:  "cSAtQSYAPcGY9BjBNPP5P+Yth8BGCCfB4FAIwX6ickD5WjxBjBONQYI/XcEQpr1AsmxMQRUbbkFMuXFBYNFeQLwGMEJjinXAgKlnP91RtkA=",
		y3:  "cSAtQSYAPcGY9BjBNPP5P+Yth8BGCCfB4FAIwX6ickD5WjxBjBONQYI/XcEQpr1AsmxMQRUbbkFMuXFBYNFeQLwGMEJjinXAgKlnP91RtkCc9oc/AFgOwaOtZEE6kr5ANhYcQSS2F0AZDqFAiKaIwdM4zMCEvRPBhi3gwDpaKsEqcrxAlbSGQGYw7UDcJ8TAIFPTwBrfNUFYFpPAMB4jwSGgVcEEOIfBPbFCwkQTGcFYyQXCtU0OQUsHXsLA5pRBI8xUQogOZ0FALYPBmusPwdH450Cw8wY/lHAvwEx4uUFQfx7BywIxQRE3lcFLq6dA",
	},
}

const ggmlGoldenX = "tw0MPTUMrj+pw5w/fKMCv3aPmL784pfAltkRP9OjZb3lMz8/JHXsv6yEyD85fsW9SC0uPwzYC741GcK+xhztPlITUz/+Y0+++3McvvKJLz+lzl6/UtfBvxA7yj40qiu/uM31v9JlUL/yaO++3LqYvw4Jv7+MERY9IbJlPy26br5PXD6/6R3FPsScNz/9mpm+WW8LP/J8hT9j7FO+jkJQv0L/sT6hfH0+5qWMPyVtpL93Xym/HJJWvzP03b8PeAE+LR4HP1ghPb/iXLE/omlSP7+bID+NrM0+w6Z0P1F+qr9+Kh0/lU8aP5pE4r/urbE+OjeAvt8RSD/CzOC+2m2VvDyKrz6wUmC/oT0ZP/H21r2vJvw+JZcFv6cIiz+E7ho/MUw2vvLHIT+oP6E/PUXlP/Nqyb/tFGI/dh3uPhU6wL1m2oC/juugP6GAob9XIxE/nKOmP/fBzL+e45q+a5Snv1LpeT4L18E/8YEBQEGZ47/cLxO/iBs0P+Ioyj/sqNc+0QM/v58hmD7+JIi8aKFQvkwGPL/pRsY+ZqKdPnZuvr0qAmO+JXikvwTs+L7xbJo/tCFDvgBIuL8Gz6o/eb8HP+bqBkBhBoA9mTrsvmxMub+Jc6k/4HIkQMsoUr+JpyW/1J8YP4WRVL+ghoq+7R2zvt+QRD4DI4w/F8e0PLE9az+t+9a+NtWnPrDYCMDml7m/+8BLPwgUF79OdRQ/E9cKP29AqT//1U8/xiyCP/Cz5L3RwjK/cEc7v+Xg+b4+npC/QyUMv9iUvb1I04A+GIOtvj079r8WCZS9DMFmPhnQij/j7hM/ZcAkv2xJOb+hrQBABrNBP59s6j/SSAhA7m1RvwVCxT7elOo+v0IPPxu6Cj9p504+8E4yPutRwL/uXim+AWQ/vwgdAT45Yu++YFceP/KuUT/tDJ4+yuChPtVavj3EReW+BXMovlLF/b5ApsY+8TtnPIDPFD8mEaq/e0VjPxBAQ7/r+Tu/fi5Kvvk5EL9dDpU+dvwSv6TkiL+Ihli/Eu+nPzlINT2icZW/YEEJPEEpx7+EEOU/GiLDvxMf9T4NKws/25m5v9i9mT6rRn8/B2bvPu2jhT4A+HI/KcQkPu8/rD6swAG+Bb4hP43+cL//sEo/cVsBv4iai7/pAbs+xLLYP4swdj+hAQS/CrQyPxmO6L7q/f29t1q3PU5NFMCpNkQ+PMqDv7eIMr/TuLy/lB7Cv8d5cb9YWlM/2EDVP+96zrzOv4s/eSiHvoe79L++gxk+AizkPqFz274jvZo+DJMSP0cIXb/mCL2/dJBivkEgWL5GkLS+NLx8Pxjg3D/CUtW+PeoyP93gcD9rkTY/CBSGP/xKx77zYz0/HZEBQAe9TT9asR6/DJMbP62VoT/F67w+BzsQv6qDxT9e+J+/d+AAP6OChLwKypi/7RacP1Mesj6lWZW/3woaP7v63L6TjvO/Flwwvzfwhj5tvSI/2YkpPvL+OD2IovA+HwpYvnOmlj+ENRg+43yWPs1xCj9PUYe/5I81v3uowz+Vras+DrOQvu7Wrj4xl/a+PqCOPod2Kr9XUo0+KPLJv5Rbqj81UQO/HWbKv8I2Zb43872+VQ4cPpKXkr+cgMs+iOhnQGKro78O6aw+ixafvhw7RT5c6ee/R1STv39Y6z43XB29fE/RP5ptNL8BsDI+lXA6QNb7Q7+iYWe/kOQPvVuHNr1ZG1g/iq8EPqu5Qb/kflg+xd4oQHvJoj9LiwVC4mwRvu8FYL+ZTB8/+2sxvpNi9z90ZW4/cvFjP3wMPz4nDyW9ECyuPrrLpT/FzQg/psezvvk1oz+VuEQ+pfSevayXSr/f5BC/9tMiv/u1MsAEKII/rQQRP8BpW77M4oU/7z/gPhg+vj6HYh7Auptuvow9CD84Cs4/yI7rP96Btj+fr5S/pqYMwEsKEj+bOuI85Gl2P9XnAL5yB2E+pP+/v4Zh5T67yeO+SDGzPkM36z4qEvC9wjOiPgbwXrzmWkI/OnIAP18WDL+9gBa/1TLfP00R0L0d530/22nJPq1pEL+/vD+/"

// TestMatMulGgmlGolden checks Q4_1 and Q8_0 products bit-exact against ggml
// at every kernel level.
func TestMatMulGgmlGolden(t *testing.T) {
	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	f32s := func(b []byte) []float32 {
		x := make([]float32, len(b)/4)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return x
	}
	x := f32s(dec(ggmlGoldenX))
	pool := NewPool(2)
	defer pool.Close()
	for name, typ := range map[string]gguf.Type{"q4_1": gguf.TypeQ4_1, "q8_0": gguf.TypeQ8_0} {
		g := ggmlGolden[name]
		for _, lvl := range levels() {
			withLevel(t, lvl, func() {
				w, err := NewWeight(typ, 20, 128, dec(g.raw))
				if err != nil {
					t.Fatal(err)
				}
				for n, want := range map[int][]float32{1: f32s(dec(g.y1)), 3: f32s(dec(g.y3))} {
					y := make([]float32, n*20)
					w.MatMul(pool, y, x, n)
					for i := range y {
						if math.Float32bits(y[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %v n=%d: y[%d] = %g, ggml %g", name, lvl, n, i, y[i], want[i])
						}
					}
				}
			})
		}
	}
}
