// Tests for YmeraTUI live in this folder.
import Testing
