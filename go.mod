module github.com/cartlsp/cartlsp

go 1.26
