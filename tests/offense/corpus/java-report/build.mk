# Builds and tests this program: `make -f build.mk test`, `make -f build.mk bench` (javac into
# classes/; run with `java -cp classes Bench`).
test: classes/ReportTest.class
	java -cp classes ReportTest

bench: classes/Bench.class

classes/ReportTest.class: Report.java ReportTest.java
	javac -d classes Report.java ReportTest.java

classes/Bench.class: Report.java Bench.java
	javac -d classes Report.java Bench.java
