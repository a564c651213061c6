module example.com/allowlist

go 1.19
