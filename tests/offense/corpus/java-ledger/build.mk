# Builds and tests this program: `make -f build.mk test`, `make -f build.mk bench` (javac into
# classes/; run with `java -cp classes Bench`).
test: classes/LedgerTest.class
	java -cp classes LedgerTest

bench: classes/Bench.class

classes/LedgerTest.class: Ledger.java LedgerTest.java
	javac -d classes Ledger.java LedgerTest.java

classes/Bench.class: Ledger.java Bench.java
	javac -d classes Ledger.java Bench.java
