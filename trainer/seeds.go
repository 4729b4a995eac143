package trainer

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Seed prompts (docs/ARCHITECTURE.md, "Self-study"): the instruction given to the model playing the
// user (A), which sees a chunk of the corpus in its system message and
// writes the message a developer would send. Five types, each written for
// code in several variants; a conversation draws a type uniformly, then a
// variant.

// SeedType is one of the five kinds of seed prompt.
type SeedType string

const (
	SeedStructuring   SeedType = "structuring"
	SeedSummarization SeedType = "summarization"
	SeedQuestion      SeedType = "question"
	SeedUseCase       SeedType = "use_case"
	SeedCreative      SeedType = "creative"
)

// SeedTypes are the five types in their fixed order.
var SeedTypes = []SeedType{SeedStructuring, SeedSummarization, SeedQuestion, SeedUseCase, SeedCreative}

// A seed is an instruction to the model playing the user and the start of
// the message it writes (a stem, such as "What does the function `"). A
// small model asked to "write a question" often answers instead; a stem
// puts it on the user's side of the conversation and makes it name a part
// of the code, which it takes from the chunk it sees. The message is the
// stem and A's continuation up to the end of the line.
type seedVariant struct {
	instruction string
	stem        string
}

// seedAsk opens every instruction.
const seedAsk = "You are a developer reading the code above. Write one message you would send to an expert on this code, "

// seedVariants holds the variants of each type, written for code:
// functions, types, files, call paths, error handling, configuration,
// tests and how to use an API. Instructions ask for exact names so that
// the message can be understood without the code in view.
var seedVariants = map[SeedType][]seedVariant{
	SeedStructuring: {
		{seedAsk + "asking to restate one struct's fields as a JSON object with their exact names and types.", "Restate the fields of the struct `"},
		{seedAsk + "asking for a Markdown table of the functions in one file with their signatures.", "Make a Markdown table of the functions in `"},
		{seedAsk + "asking to list the constants or variables of one part of the code with their exact values, as YAML.", "List, as YAML, the constants and values defined in `"},
		{seedAsk + "asking for a numbered step-by-step outline of one function's logic, keeping exact names.", "Give a numbered outline of what the function `"},
		{seedAsk + "asking for an outline of one file: its types, functions and how they relate.", "Outline the types and functions of the file `"},
	},
	SeedSummarization: {
		{seedAsk + "asking for a short summary of one function, named exactly.", "Summarize what the function `"},
		{seedAsk + "asking for a summary of one type: what it represents and its methods.", "Summarize the type `"},
		{seedAsk + "asking to summarise the purpose of one file and what it defines.", "Summarize the file `"},
		{seedAsk + "asking how one named function handles errors and edge cases.", "Summarize how errors are handled in `"},
	},
	SeedQuestion: {
		{seedAsk + "asking what one named function returns.", "What does the function `"},
		{seedAsk + "asking for the exact value of one named constant, variable or default.", "What is the value of `"},
		{seedAsk + "asking which error one named function returns, and when.", "When does `"},
		{seedAsk + "asking which arguments one named function takes.", "What arguments does `"},
		{seedAsk + "asking how two named parts of the code relate (who calls whom, which type has which method).", "Which function calls `"},
	},
	SeedUseCase: {
		{seedAsk + "asking how to do one concrete task with this code, naming the functions to use.", "How do I use `"},
		{seedAsk + "asking how to call one named function correctly: arguments, results, errors to handle.", "Show me how to call `"},
		{seedAsk + "asking how to extend the code with one small feature, naming the parts involved.", "How would I change `"},
		{seedAsk + "describing a concrete problem you hit with one named function and asking for the fix.", "I get an error when I call `"},
	},
	SeedCreative: {
		{seedAsk + "asking why one named function or type is designed the way it is.", "Why is `"},
		{seedAsk + "asking what could go wrong with one named function under unusual input.", "What could go wrong when `"},
		{seedAsk + "asking how two named functions or types differ and when to use each.", "What is the difference between `"},
		{seedAsk + "asking for a simple explanation of one named part, with a usage example, for a junior developer.", "Explain to a junior developer how `"},
	},
}

// Seed is one drawn seed prompt.
type Seed struct {
	Type        SeedType
	Variant     int
	Instruction string // the user turn A sees
	Stem        string // the start of A's message
}

// DrawSeed draws a type uniformly from types (all five when empty), then a
// variant of it uniformly.
func DrawSeed(rng *rand.Rand, types []SeedType) Seed {
	if len(types) == 0 {
		types = SeedTypes
	}
	t := types[rng.IntN(len(types))]
	vs := seedVariants[t]
	v := rng.IntN(len(vs))
	return Seed{Type: t, Variant: v, Instruction: vs[v].instruction, Stem: vs[v].stem}
}

// ParseSeedTypes parses a comma-separated list of seed types.
func ParseSeedTypes(s string) ([]SeedType, error) {
	if strings.TrimSpace(s) == "" || s == "all" {
		return SeedTypes, nil
	}
	var out []SeedType
	for _, f := range strings.Split(s, ",") {
		t := SeedType(strings.TrimSpace(f))
		if _, ok := seedVariants[t]; !ok {
			return nil, fmt.Errorf("unknown seed type %q (want some of %s)", t, joinSeedTypes(SeedTypes))
		}
		out = append(out, t)
	}
	return out, nil
}

func joinSeedTypes(ts []SeedType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ",")
}
