"""One parser per input format; each turns decoded text into a Draft."""
