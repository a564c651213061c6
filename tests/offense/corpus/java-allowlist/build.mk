# Builds and tests this program: `make -f build.mk test`, `make -f build.mk bench` (javac into
# classes/; run with `java -cp classes Bench`).
test: classes/AuditTest.class
	java -cp classes AuditTest

bench: classes/Bench.class

classes/AuditTest.class: Audit.java AuditTest.java
	javac -d classes Audit.java AuditTest.java

classes/Bench.class: Audit.java Bench.java
	javac -d classes Audit.java Bench.java
