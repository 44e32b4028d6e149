// Tests for ymeraCLI live in this folder.
import Testing
