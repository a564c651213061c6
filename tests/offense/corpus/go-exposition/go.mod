module example.com/exposition

go 1.19
