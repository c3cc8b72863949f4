module github.com/strongroom/strongroom/tools/stack

go 1.26.8
