"""Sans-I/O wire codecs: text or bytes in, typed messages out. They import nothing of
tryst, do no I/O, and take a size limit on every input."""
