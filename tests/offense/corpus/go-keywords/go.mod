module example.com/keywords

go 1.19
