import Foundation
import OCREngine
import Testing

@Suite struct EngineSmokeTests {
    @Test func languageTable() throws {
        let selection = try LanguageSelection.resolve(names: ["ChinesePRC", "English", "Digits"]).get()
        #expect(selection.tesseractLanguage == "chi_sim+eng")
        #expect(!selection.digitsOnly)
        #expect(try LanguageSelection.resolve(names: ["Digits"]).get().digitsOnly)
        #expect(throws: LanguageSelection.Problem.unknown("english")) { try LanguageSelection.resolve(names: ["english"]).get() }
    }
}
