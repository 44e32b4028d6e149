// YmeraProviders — see design.md. Filled in by its issue.
import YmeraCore
