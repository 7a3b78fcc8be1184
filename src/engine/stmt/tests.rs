// parser tests come next
